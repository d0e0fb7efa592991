import Testing

@testable import FleetDashboard

@Suite("Sparkline")
struct SparklineTests {
    @Test("points run from zero at the bottom to the maximum at the top, evenly spaced")
    func scaling() {
        #expect(Sparkline.points([0, 5, 10], width: 100, height: 20) == "0.0,20.0 50.0,10.0 100.0,0.0")
        #expect(Sparkline.points([2, 4], width: 10, height: 10) == "0.0,5.0 10.0,0.0")
    }

    @Test("an all-zero series lies on the bottom edge; one sample is a flat line; none is empty")
    func edgeCases() {
        #expect(Sparkline.points([0, 0, 0], width: 10, height: 4) == "0.0,4.0 5.0,4.0 10.0,4.0")
        #expect(Sparkline.points([7], width: 10, height: 4) == "0.0,0.0 10.0,0.0")
        #expect(Sparkline.points([], width: 10, height: 4) == "")
        #expect(Sparkline.points([-3, .nan, 6], width: 10, height: 6) == "0.0,6.0 5.0,6.0 10.0,0.0")
    }

    @Test("the ring keeps the newest samples, oldest first")
    func ring() {
        var ring = SampleRing(capacity: 3)
        for value in 1...5 { ring.append(Double(value)) }
        #expect(ring.values == [3, 4, 5])
    }

    @Test("the SVG escapes its label")
    func svgLabel() {
        let svg = Sparkline.svg([1, 2], label: "q<\"x\">")
        #expect(svg.contains("aria-label=\"q&lt;&quot;x&quot;&gt;\""))
        #expect(!svg.contains("q<"))
        #expect(svg.contains("points=\"0.0,12.0 120.0,0.0\""))
    }
}
