import Foundation

/// Finds the shipped `Presets` folder (rigs, smoothing presets, the default model).
///
/// Searched in order:
/// 1. the folder given with `--presets` (passed in as `explicit`; when given, only it),
/// 2. `$EMOBAKE_PRESETS`,
/// 3. `<executable dir>/../share/emobake/Presets` (an installed binary),
/// 4. `Presets` next to the executable, then in each parent folder of the executable up to
///    the root (a binary run from a checkout's `.build/...` finds the checkout's `Presets`),
/// 5. `Presets` in the current directory.
public enum ResourceLocator {
    public static func presetsDirectory(explicit: String? = nil) throws -> URL {
        let manager = FileManager.default
        // A folder the user names is used as it is (and only it): falling back to another
        // Presets folder would silently use presets they did not ask for.
        if let explicit {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: explicit, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommonError("presets.missing", "\(explicit): no such presets folder")
            }
            return URL(fileURLWithPath: explicit)
        }
        var candidates: [URL] = []
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
        throw CommonError(
            "presets.missing",
            "cannot find the Presets folder: pass --presets DIR or set EMOBAKE_PRESETS")
    }
}
