import Foundation

extension DialogueScript {
    /// Reads CSV or TSV as spreadsheets export it: a header row, fields optionally quoted
    /// with `"` (a doubled `""` is a quote; quoted fields may hold separators and line
    /// breaks), LF or CRLF line ends, UTF-8 with or without a BOM (UTF-16 with a BOM, as
    /// Excel's "Unicode text" writes, is read too). Blank rows are skipped.
    static func parseDelimited(_ data: Data, separator: Unicode.Scalar, source: String) throws -> [DialogueLine] {
        let text = try decodeText(data, source: source)
        let records = try splitRecords(text, separator: separator, source: source)
        guard let header = records.first else { throw BatchError("script.empty", "\(source): empty script, expected a header row") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
        try checkColumns(names, source: source, location: "header row")
        var lines: [DialogueLine] = []
        for record in records.dropFirst() {
            if record.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            var fields: [String: String] = [:]
            for (index, name) in names.enumerated() where index < record.fields.count && DialogueScript.columns.contains(name) {
                fields[name] = record.fields[index]
            }
            var line = DialogueScript.line(from: fields, location: "\(source):\(record.line)")
            if record.fields.count > names.count,
                record.fields[names.count...].contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
            {
                let problem = "\(record.fields.count) fields but the header has \(names.count) (an unquoted \"\(separator)\"?)"
                line.problem = line.problem.map { "\($0); \(problem)" } ?? problem
            }
            lines.append(line)
        }
        return lines
    }

    /// Checks a header: known columns at most once, and the required ones present.
    static func checkColumns(_ names: [String], source: String, location: String) throws {
        var seen = Set<String>()
        for name in names where DialogueScript.columns.contains(name) {
            guard seen.insert(name).inserted else {
                throw BatchError("script.column", "\(source): \(location): column \"\(name)\" appears twice")
            }
        }
        var missing = ["id", "character"].filter { !seen.contains($0) }
        if !seen.contains("audio") && !seen.contains("track") { missing.append("audio (or track)") }
        guard missing.isEmpty else {
            throw BatchError(
                "script.column",
                "\(source): \(location): missing column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) (columns: \(DialogueScript.columns.joined(separator: ", ")))"
            )
        }
    }

    static func decodeText(_ data: Data, source: String) throws -> String {
        let bytes = [UInt8](data.prefix(3))
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            guard let text = String(data: data, encoding: .utf16) else {
                throw BatchError("script.encoding", "\(source): invalid UTF-16 text")
            }
            return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        }
        var body = data
        if bytes == [0xEF, 0xBB, 0xBF] { body = data.dropFirst(3) }
        guard let text = String(data: body, encoding: .utf8) else {
            throw BatchError("script.encoding", "\(source): not UTF-8 text (export the sheet as \"CSV UTF-8\")")
        }
        return text
    }

    struct Record {
        var fields: [String]
        /// The physical line where the record starts (1-based).
        var line: Int
    }

    static func splitRecords(_ text: String, separator: Unicode.Scalar, source: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var inQuotes = false
        var fieldWasQuoted = false
        var line = 1
        var recordLine = 1
        var quoteLine = 1
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            fieldWasQuoted = false
        }
        func endRecord() {
            endField()
            records.append(Record(fields: fields, line: recordLine))
            fields = []
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if inQuotes {
                if scalar == "\"" {
                    if index + 1 < scalars.count && scalars[index + 1] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.append(scalar)
                }
            } else if scalar == "\"" && field.allSatisfy({ $0 == " " }) && !fieldWasQuoted {
                // A quote opens a quoted field only at its start (spaces before it are dropped).
                field = String.UnicodeScalarView()
                inQuotes = true
                fieldWasQuoted = true
                quoteLine = line
            } else if scalar == separator {
                endField()
            } else if scalar == "\r" || scalar == "\n" {
                if scalar == "\r" && index + 1 < scalars.count && scalars[index + 1] == "\n" { index += 1 }
                endRecord()
                line += 1
                recordLine = line
            } else {
                field.append(scalar)
            }
            index += 1
        }
        if inQuotes {
            throw BatchError("script.syntax", "\(source):\(quoteLine): a quoted field is never closed (missing \")")
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
