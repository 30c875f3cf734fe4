import Foundation
import XMLIO

extension DialogueScript {
    /// Reads `<script><line id="..." character="..." audio="..."><text>...</text></line></script>`.
    /// Each field may be an attribute or a child element; other elements are ignored.
    static func parseXML(_ data: Data, source: String) throws -> [DialogueLine] {
        let root = try XMLDocument.parse(data, source: source)
        var lines: [DialogueLine] = []
        for element in root.children(named: "line") {
            var fields: [String: String] = [:]
            var problems: [String] = []
            for (name, value) in element.attributes where DialogueScript.columns.contains(name.lowercased()) {
                fields[name.lowercased()] = value
            }
            for child in element.children where DialogueScript.columns.contains(child.name.lowercased()) {
                let name = child.name.lowercased()
                if fields[name] != nil {
                    problems.append("\"\(name)\" is given twice")
                } else {
                    fields[name] = child.text
                }
            }
            var line = DialogueScript.line(from: fields, location: "\(source):\(element.line)")
            if !problems.isEmpty {
                line.problem = ([line.problem].compactMap { $0 } + problems).joined(separator: "; ")
            }
            lines.append(line)
        }
        if lines.isEmpty {
            throw BatchError("script.empty", "\(source): no <line> elements under <\(root.name)>")
        }
        return lines
    }
}
