import Common

/// Errors about emotion tracks and emotion sets; messages name the file and the frame or field.
public struct EmotionCoreError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
