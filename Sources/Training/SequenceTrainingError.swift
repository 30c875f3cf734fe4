import Common

/// Errors of Stages 2 and 3 (synthetic dialogues, preferences, sequence and DPO training);
/// messages name the file, line or field at fault.
// Becomes the module's TrainingError once Stage 1's lands on main (one error type per module).
public struct SequenceTrainingError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
