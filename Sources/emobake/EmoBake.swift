import ArgumentParser
import Common

@main
struct EmoBake: ParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "emobake",
        abstract: "Turn dialogue audio into facial animation: emotion over time -> blendshape curves.",
        version: version,
        subcommands: [])
}
