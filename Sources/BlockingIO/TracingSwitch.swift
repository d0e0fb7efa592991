import Tracing

/// Whether spans are worth starting: false unless a tracer is bootstrapped or bound by `withTracer`.
///
/// Without one, starting a no-op span still looked the tracer up (a lock and a dynamic cast) and a
/// job pushed its context as a task-local: 3–4% of a no-op worker's CPU per job, for nothing.
package enum TracingSwitch {
    package static var isOn: Bool { !(InstrumentationSystem.instrument is NoOpInstrument) }
}
