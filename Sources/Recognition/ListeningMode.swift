import Foundation

/// How a model folder hears a clip: a sequence model over the whole clip (Stage 2), or a
/// Stage 1 model over sliding windows. `auto` picks the sequence model when the folder is one
/// or has one in its `sequence/` subfolder (as the shipped default has), else windows.
public enum ListeningMode: String, CaseIterable, Sendable {
    case auto
    case window
    case sequence

    /// The subfolder of a Stage 1 model folder that may hold its sequence model.
    public static let sequenceSubfolder = "sequence"

    /// The sequence model of a folder: the folder itself or its `sequence/` subfolder.
    public static func sequenceModelFolder(in directory: URL) -> URL? {
        if SequenceModel.isSequenceModel(directory) { return directory }
        let nested = directory.appendingPathComponent(sequenceSubfolder)
        return SequenceModel.isSequenceModel(nested) ? nested : nil
    }

    /// The folder to load and the mode it is heard in (`window` or `sequence`, never `auto`).
    public func resolve(_ directory: URL) throws -> (folder: URL, mode: ListeningMode) {
        switch self {
        case .auto:
            if let folder = Self.sequenceModelFolder(in: directory) { return (folder, .sequence) }
            return (directory, .window)
        case .sequence:
            guard let folder = Self.sequenceModelFolder(in: directory) else {
                throw RecognitionError(
                    "model.noSequence",
                    "\(directory.path): not a sequence model and has no sequence/ subfolder (train one with emobake train sequence, or use the window mode)")
            }
            return (folder, .sequence)
        case .window:
            if SequenceModel.isSequenceModel(directory) {
                throw RecognitionError(
                    "model.sequence", "\(directory.path): is a sequence model; sliding windows need a Stage 1 model (use the sequence mode)")
            }
            return (directory, .window)
        }
    }
}
