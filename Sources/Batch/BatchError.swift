import Common

/// Errors about dialogue scripts, project files, output paths and batch runs. The message
/// names the file (and the line or field) at fault.
public struct BatchError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
