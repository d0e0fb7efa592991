import Testing

@testable import FleetDashboard

@Suite("Shown text")
struct HTMLTextTests {
    @Test("control characters and bidi overrides become visible escapes")
    func visible() {
        #expect(HTMLText.visible("a\nb\tc\r\u{1B}[31m\u{7F}\u{202E}x") == #"a\nb\tc\r\u{1B}[31m\u{7F}\u{202E}x"#)
        #expect(HTMLText.visible("plain ü ✓") == "plain ü ✓")
    }

    @Test("markup is escaped")
    func escape() {
        #expect(
            HTMLText.escape(#"<script>"x"&'y'</script>"#)
                == "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        )
    }

    @Test("an envelope body is pretty-printed JSON with escapes kept visible")
    func body() {
        let text = EntryText.body(Array(#"{"b":"x\u001by","a":1}"#.utf8))
        #expect(text.contains("\"a\" : 1"))
        #expect(!text.contains("\u{1B}"))
        #expect(EntryText.body(Array("not json\u{0}".utf8)) == #"not json\u{0}"#)
    }
}
