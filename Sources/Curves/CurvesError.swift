import Common

/// Errors about presets, settings and curves; messages name the preset file and field.
public struct CurvesError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
