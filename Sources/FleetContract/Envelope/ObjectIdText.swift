/// MongoDB ObjectIds as the contract carries them: 24 hex digits, either case on input.
public enum ObjectIdText {
    /// `text` lowercased when it is 24 hex digits, else nil.
    public static func canonical(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24 else { return nil }
        let hex = bytes.allSatisfy { byte in
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
        }
        return hex ? text.lowercased() : nil
    }
}
