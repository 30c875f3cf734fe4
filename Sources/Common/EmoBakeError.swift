/// An error a user can act on: `message` is one line that names the file, line or field at
/// fault and what is wrong with it. Every module has its own error type conforming to this,
/// so the command line prints `message` and nothing else.
public protocol EmoBakeError: Error, CustomStringConvertible, Sendable {
    /// A stable, machine-readable code (for `--json` output and tests), for example
    /// `track.nonIncreasingTime`.
    var code: String { get }
    /// One line, for people: `file: what is wrong (where)`.
    var message: String { get }
}

extension EmoBakeError {
    public var description: String { message }
}

/// Errors from the plumbing in this module (files, paths, hashing).
public struct CommonError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The one-line text of any error: ours carry their message; others fall back to their description.
public func oneLineMessage(_ error: any Error) -> String {
    let text: String
    if let known = error as? any EmoBakeError {
        text = known.message
    } else {
        text = String(describing: error)
    }
    return text.split(whereSeparator: \.isNewline).joined(separator: " ")
}
