import Foundation

/// Finds the shipped `Presets` folder (rigs, smoothing presets, the default model).
///
/// Searched in order:
/// 1. the folder given with `--presets` (passed in as `explicit`),
/// 2. `$EMOBAKE_PRESETS`,
/// 3. `<executable dir>/../share/emobake/Presets` (an installed binary),
/// 4. `Presets` next to the executable, then in each parent folder of the executable up to
///    the root (a binary run from a checkout's `.build/...` finds the checkout's `Presets`),
/// 5. `Presets` in the current directory.
public enum ResourceLocator {
    public static func presetsDirectory(explicit: String? = nil) throws -> URL {
        let manager = FileManager.default
        var candidates: [URL] = []
        if let explicit { candidates.append(URL(fileURLWithPath: explicit)) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["EMOBAKE_PRESETS"], !fromEnvironment.isEmpty {
            candidates.append(URL(fileURLWithPath: fromEnvironment))
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        candidates.append(directory.appendingPathComponent("../share/emobake/Presets").standardizedFileURL)
        while directory.path != "/" && !directory.path.isEmpty {
            candidates.append(directory.appendingPathComponent("Presets"))
            directory = directory.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: manager.currentDirectoryPath).appendingPathComponent("Presets"))
        for candidate in candidates {
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: candidate.appendingPathComponent("rigs").path, isDirectory: &isDirectory),
                isDirectory.boolValue
            {
                return candidate
            }
        }
        if let explicit {
            throw CommonError("presets.missing", "\(explicit): not a presets folder (it has no rigs/ subfolder)")
        }
        throw CommonError(
            "presets.missing",
            "cannot find the Presets folder: pass --presets DIR or set EMOBAKE_PRESETS")
    }
}
