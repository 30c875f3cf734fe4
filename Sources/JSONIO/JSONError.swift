import Common

/// Errors reading or writing JSON; the message names the file and where the problem is.
public struct JSONError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
