import ArgumentParser
import Common
import Curves
import Foundation

struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presets",
        abstract: "List and show rig and smoothing presets.",
        discussion: """
            Examples:
              emobake presets list
              emobake presets show arkit52
              emobake presets show film
              emobake presets show ./my_rig.json
            """,
        subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the shipped rig and smoothing presets.")
        @OptionGroup var presetOptions: PresetOptions

        func run() throws {
            let directory = try presetOptions.directory()
            do {
                print("rigs (--rig):")
                for name in try RigPreset.availableNames(presetsDirectory: directory) {
                    let rig = try RigPreset.load(name, presetsDirectory: directory)
                    print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(rig.blendshapes.count) blendshapes  \(rig.description)")
                }
                print("smoothing (--smoothing):")
                for name in try SmoothingPreset.availableNames(presetsDirectory: directory) {
                    let preset = try SmoothingPreset.load(name, presetsDirectory: directory)
                    let marker = name == SmoothingPreset.defaultName ? " (default)" : ""
                    print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(preset.description)\(marker)")
                }
            } catch {
                printError(oneLineMessage(error))
                throw ExitCode(1)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one preset: a rig's blendshapes and mapping, or a smoothing preset's filters.")
        @Argument(help: ArgumentHelp("A preset name or a .json file.", valueName: "NAME|FILE"))
        var name: String
        @OptionGroup var presetOptions: PresetOptions

        func run() throws {
            let directory = try presetOptions.directory()
            let rigNames = (try? RigPreset.availableNames(presetsDirectory: directory)) ?? []
            let smoothingNames = (try? SmoothingPreset.availableNames(presetsDirectory: directory)) ?? []
            do {
                if smoothingNames.contains(name) {
                    print(try SmoothingPreset.load(name, presetsDirectory: directory).describe(), terminator: "")
                } else if rigNames.contains(name) {
                    print(try RigPreset.load(name, presetsDirectory: directory).describe(), terminator: "")
                } else if name.hasSuffix(".json") || name.contains("/") {
                    // A user file: its "format" field says whether it is a rig or a smoothing preset.
                    let text = (try? String(contentsOfFile: name, encoding: .utf8)) ?? ""
                    if text.contains("\"emobake-smoothing\"") {
                        print(try SmoothingPreset.load(name, presetsDirectory: directory).describe(), terminator: "")
                    } else {
                        print(try RigPreset.load(name, presetsDirectory: directory).describe(), terminator: "")
                    }
                } else {
                    throw ValidationError(
                        "unknown preset \"\(name)\": rigs are \(rigNames.joined(separator: ", ")); smoothing presets are \(smoothingNames.joined(separator: ", "))")
                }
            } catch let error as ValidationError {
                throw error
            } catch {
                printError(oneLineMessage(error))
                throw ExitCode(1)
            }
        }
    }
}
