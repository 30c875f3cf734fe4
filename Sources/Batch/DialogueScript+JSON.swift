import Common
import Foundation
import JSONIO

extension DialogueScript {
    /// Reads `{"lines": [{"id": ..., "character": ..., "audio": ...}, ...]}` or a bare array of
    /// such objects. Values are strings; `start` may also be a number of seconds.
    static func parseJSON(_ data: Data, source: String) throws -> [DialogueLine] {
        let root = JSONField(try JSONCodec.parse(data, source: source), source: source)
        let items: [JSONField]
        if root.value.arrayValue != nil {
            items = try root.array()
        } else if root.value.objectValue != nil {
            items = try root.required("lines").array()
        } else {
            throw root.fail("expected an object with \"lines\" or an array of lines, found \(root.value.kindName)", code: "script.syntax")
        }
        var lines: [DialogueLine] = []
        for item in items {
            let location = "\(source): \(item.path)"
            guard let object = item.value.objectValue else {
                lines.append(DialogueLine(id: "", character: "", location: location, problem: "expected an object, found \(item.value.kindName)"))
                continue
            }
            var fields: [String: String] = [:]
            var problems: [String] = []
            for (key, value) in object.entries {
                let name = key.lowercased()
                guard DialogueScript.columns.contains(name) else { continue }
                switch value {
                case .string(let text): fields[name] = text
                case .null: break
                case .integer, .number, .decimal:
                    if name == "start" {
                        fields[name] = DecimalFormat.trimmed(value.doubleValue!, 9)
                    } else {
                        problems.append("\"\(key)\" should be a string, found \(value.kindName)")
                    }
                default: problems.append("\"\(key)\" should be a string, found \(value.kindName)")
                }
            }
            var line = DialogueScript.line(from: fields, location: location)
            if !problems.isEmpty {
                line.problem = ([line.problem].compactMap { $0 } + problems).joined(separator: "; ")
            }
            lines.append(line)
        }
        return lines
    }
}
