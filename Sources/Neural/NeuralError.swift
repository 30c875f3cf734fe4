import Common

/// Errors loading weights or running kernels; messages name the file and the tensor at fault.
public struct NeuralError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
