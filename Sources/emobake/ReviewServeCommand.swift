import ArgumentParser
import Common
import Foundation
import Training

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ReviewServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a review folder on this machine and write each choice to the preferences file as it is made.",
        discussion: """
            Serves the folder written by 'emobake review make' at http://HOST:PORT/ (localhost only by default). The page sends every choice to the server, which keeps the latest choice per pair and person and rewrites the preferences file (default DIR/preferences.jsonl) each time, atomically: stopping the server (Ctrl-C) loses nothing. Choices already in the file are kept. The page's export button still works.

            Example:
              emobake review serve review --port 8765
            """)

    @Argument(help: ArgumentHelp("A folder written by 'emobake review make'.", valueName: "review-dir"))
    var folder: String

    @Option(name: .long, help: "Port to listen on (0: any free port; the address is printed).")
    var port: Int = 8765

    @Option(name: .long, help: "Address to listen on (127.0.0.1: this machine only).")
    var host: String = "127.0.0.1"

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Preferences file (default: DIR/preferences.jsonl).", valueName: "file"))
    var output: String?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 (any free port) to 65535, got \(port)") }
    }

    func run() throws {
        let root = URL(fileURLWithPath: folder).standardizedFileURL
        do {
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent("index.html").path) else {
                throw TrainingError("review.missing", "\(root.path): no index.html (make the folder with emobake review make)")
            }
            let preferencesURL = output.map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent(ReviewPage.preferencesFileName)
            let store = try ChoiceStore(url: preferencesURL)
            let server = try ReviewServer(root: root, store: store, host: host, port: port)
            if !quiet {
                print("serving \(root.path) at http://\(host):\(server.port)/ (choices go to \(preferencesURL.path); Ctrl-C stops)")
                fflush(stdout)
            }
            try server.run()
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}

/// The choices received so far: the latest per (pair, annotator), written out in the order
/// first seen, so the file is stable while people change their minds.
final class ChoiceStore {
    let url: URL
    private var order: [String] = []
    private var latest: [String: Preference] = [:]

    init(url: URL) throws {
        self.url = url
        if FileManager.default.fileExists(atPath: url.path) {
            let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            for preference in try PreferencesFile.parse(text, source: url.path) { remember(preference) }
        }
    }

    private func key(_ preference: Preference) -> String {
        "\(preference.annotator)\u{1}\(preference.pair ?? preference.candidates.sorted().joined(separator: "\u{2}"))"
    }

    private func remember(_ preference: Preference) {
        let key = key(preference)
        if latest[key] == nil { order.append(key) }
        latest[key] = preference
    }

    /// Parses posted lines (errors name the request), records them, rewrites the file.
    func add(_ body: String) throws -> Int {
        let preferences = try PreferencesFile.parse(body, source: "request")
        for preference in preferences { remember(preference) }
        try PreferencesFile.write(order.compactMap { latest[$0] }, to: url)
        return preferences.count
    }
}

/// A small HTTP/1.1 server for one review folder: GET serves files under the folder (with
/// byte ranges, which audio elements use to seek), POST /choices records choices. One
/// connection at a time; each response closes its connection.
final class ReviewServer {
    let root: URL
    let store: ChoiceStore
    let socket: Int32
    let port: Int

    init(root: URL, store: ChoiceStore, host: String, port: Int) throws {
        self.root = root
        self.store = store
        #if canImport(Glibc)
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw CommonError("serve.socket", "cannot open a socket (\(String(cString: strerror(errno))))") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(descriptor)
            throw CommonError("serve.host", "\(host): not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw CommonError("serve.bind", "cannot listen on \(host):\(port) (\(reason))")
        }
        socket = descriptor
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // A parent may start us with signals blocked (Foundation's Process does): Ctrl-C and
        // kill must still stop the server.
        var stopping = sigset_t()
        sigemptyset(&stopping)
        sigaddset(&stopping, SIGINT)
        sigaddset(&stopping, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopping, nil)
        while true {
            let connection = accept(socket, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                throw CommonError("serve.accept", "accept failed (\(String(cString: strerror(errno))))")
            }
            handle(connection)
            close(connection)
        }
    }

    struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data
    }

    func readRequest(_ connection: Int32) -> Request? {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var data = Data()
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            data.append(contentsOf: buffer[0..<count])
            headerEnd = data.range(of: Data("\r\n\r\n".utf8))
            if data.count > 1 << 20 && headerEnd == nil { return nil }
        }
        let head = String(decoding: data[..<headerEnd!.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(data[headerEnd!.upperBound...])
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard length <= 16 << 20 else { return nil }
        while body.count < length {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            body.append(contentsOf: buffer[0..<count])
        }
        return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }

    func handle(_ connection: Int32) {
        guard let request = readRequest(connection) else { return }
        let path = (request.path.split(separator: "?").first.map(String.init) ?? "/").removingPercentEncoding ?? "/"
        if request.method == "POST" && path == "/choices" {
            do {
                let count = try store.add(String(decoding: request.body, as: UTF8.self))
                respond(connection, status: "200 OK", type: "text/plain; charset=utf-8", body: Data("saved \(count)\n".utf8))
            } catch {
                respond(connection, status: "400 Bad Request", type: "text/plain; charset=utf-8", body: Data((oneLineMessage(error) + "\n").utf8))
            }
            return
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            respond(connection, status: "405 Method Not Allowed", type: "text/plain", body: Data("GET or POST /choices\n".utf8))
            return
        }
        let relative = path == "/" ? "index.html" : String(path.dropFirst())
        let file = root.appendingPathComponent(relative).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard file.path.hasPrefix(root.path + "/"), !relative.split(separator: "/").contains(".."),
            FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue,
            let contents = FileManager.default.contents(atPath: file.path)
        else {
            respond(connection, status: "404 Not Found", type: "text/plain", body: Data("not found\n".utf8))
            return
        }
        let type = Self.contentTypes[file.pathExtension.lowercased()] ?? "application/octet-stream"
        if let range = request.headers["range"], let (start, end) = Self.byteRange(range, size: contents.count) {
            respond(
                connection, status: "206 Partial Content", type: type, body: contents.subdata(in: start..<(end + 1)),
                extra: ["Content-Range: bytes \(start)-\(end)/\(contents.count)"], headOnly: request.method == "HEAD")
        } else {
            respond(connection, status: "200 OK", type: type, body: contents, headOnly: request.method == "HEAD")
        }
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "json": "application/json", "jsonl": "application/x-ndjson", "wav": "audio/wav",
        "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg", "css": "text/css", "js": "text/javascript",
    ]

    /// "bytes=START-END", "bytes=START-" or "bytes=-SUFFIX" -> inclusive bounds within `size`.
    static func byteRange(_ header: String, size: Int) -> (Int, Int)? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let parts = header.dropFirst(6).split(separator: ",")[0].split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty, let suffix = Int(parts[1]), suffix > 0 { return (max(0, size - suffix), size - 1) }
        guard let start = Int(parts[0]), start < size else { return nil }
        let end = parts[1].isEmpty ? size - 1 : min(size - 1, Int(parts[1]) ?? size - 1)
        return end >= start ? (start, end) : nil
    }

    func respond(_ connection: Int32, status: String, type: String, body: Data, extra: [String] = [], headOnly: Bool = false) {
        var head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nAccept-Ranges: bytes\r\nCache-Control: no-store\r\nConnection: close\r\n"
        for line in extra { head += line + "\r\n" }
        head += "\r\n"
        var message = Data(head.utf8)
        if !headOnly { message.append(body) }
        message.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let count = send(connection, raw.baseAddress! + sent, raw.count - sent, 0)
                if count <= 0 { return }
                sent += count
            }
        }
    }
}
