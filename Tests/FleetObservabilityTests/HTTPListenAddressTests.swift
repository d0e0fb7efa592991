import FleetObservability
import Testing

@Suite("HTTP listen address")
struct HTTPListenAddressTests {
    @Test("HOST:PORT, [IPv6]:PORT and :PORT parse; anything else is refused")
    func parses() {
        #expect(HTTPListenAddress("127.0.0.1:0") == HTTPListenAddress(host: "127.0.0.1", port: 0))
        #expect(HTTPListenAddress("0.0.0.0:9090") == HTTPListenAddress(host: "0.0.0.0", port: 9090))
        #expect(HTTPListenAddress(":9090") == HTTPListenAddress(host: "0.0.0.0", port: 9090))
        #expect(HTTPListenAddress("[::1]:8080") == HTTPListenAddress(host: "::1", port: 8080))
        #expect(HTTPListenAddress("localhost:80")?.description == "localhost:80")
        #expect(HTTPListenAddress(host: "::1", port: 8080).description == "[::1]:8080")
        for bad in ["", "9090", "host:", "host:http", "host:70000", "::1:80", "host:-1"] {
            #expect(HTTPListenAddress(bad) == nil, "\(bad)")
        }
    }
}
