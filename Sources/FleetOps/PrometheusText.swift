/// One sample of a Prometheus text exposition (format 0.0.4): a metric name, its labels and a value.
public struct PrometheusSample: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    public init(name: String, labels: [String: String] = [:], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}

/// Parses the body a `/metrics` endpoint serves into samples. Comments (`# HELP`, `# TYPE`) and blank
/// lines are skipped; a line that is not a sample is an error naming its number, so a scrape of the
/// wrong URL does not pass for an idle worker.
public enum PrometheusText {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var problem: String
        public var description: String { "metrics line \(line): \(problem)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [PrometheusSample] {
        var samples: [PrometheusSample] = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.first == "#" { continue }
            samples.append(try sample(Array(line.utf8), line: number))
        }
        return samples
    }

    private static func sample(_ bytes: [UInt8], line: Int) throws(ParseError) -> PrometheusSample {
        var index = 0
        while index < bytes.count, isNameByte(bytes[index], first: index == 0) { index += 1 }
        guard index > 0 else { throw ParseError(line: line, problem: "expected a metric name") }
        let name = String(decoding: bytes[0..<index], as: UTF8.self)
        var labels: [String: String] = [:]
        if index < bytes.count, bytes[index] == UInt8(ascii: "{") {
            index += 1
            labels = try readLabels(bytes, &index, line: line)
        }
        let rest = String(decoding: bytes[index...], as: UTF8.self).split(
            separator: " ",
            omittingEmptySubsequences: true
        )
        guard let first = rest.first, rest.count <= 2, let value = number(first) else {
            throw ParseError(line: line, problem: "expected a value after \(name)")
        }
        return PrometheusSample(name: name, labels: labels, value: value)
    }

    private static func readLabels(
        _ bytes: [UInt8],
        _ index: inout Int,
        line: Int
    ) throws(ParseError) -> [String: String] {
        var labels: [String: String] = [:]
        while true {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: ",") {
                index += 1
            }
            guard index < bytes.count else { throw ParseError(line: line, problem: "unclosed label set") }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return labels
            }
            let start = index
            while index < bytes.count, isNameByte(bytes[index], first: index == start) { index += 1 }
            let key = String(decoding: bytes[start..<index], as: UTF8.self)
            guard !key.isEmpty, index + 1 < bytes.count, bytes[index] == UInt8(ascii: "="),
                bytes[index + 1] == UInt8(ascii: "\"")
            else { throw ParseError(line: line, problem: "expected label=\"value\"") }
            index += 2
            var value: [UInt8] = []
            while true {
                guard index < bytes.count else { throw ParseError(line: line, problem: "unclosed label value") }
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\"), index < bytes.count {
                    let escaped = bytes[index]
                    index += 1
                    value.append(escaped == UInt8(ascii: "n") ? UInt8(ascii: "\n") : escaped)
                } else {
                    value.append(byte)
                }
            }
            labels[key] = String(decoding: value, as: UTF8.self)
        }
    }

    private static func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"),
            UInt8(ascii: ":"):
            return true
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return !first
        default: return false
        }
    }

    private static func number(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }
}
