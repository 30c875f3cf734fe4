import Common

/// Errors reading audio; the message names the file and the problem.
public struct AudioError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
