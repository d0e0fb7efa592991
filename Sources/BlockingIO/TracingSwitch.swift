import Tracing

/// Whether spans are worth starting: false unless a tracer is bootstrapped or bound by `withTracer`.
///
/// Without one, starting a no-op span still looked the tracer up (a lock and a dynamic cast) and a
/// job pushed its context as a task-local: 3–4% of a no-op worker's CPU per job, for nothing.
///
/// Compares the instrument's dynamic type instead of casting (`is NoOpInstrument`): the cast went
/// through the runtime's conformance and metadata lookups on every job and every store call
/// (profiled at concurrency 1: most of the worker's dynamic-cast samples).
package enum TracingSwitch {
    package static var isOn: Bool {
        ObjectIdentifier(type(of: InstrumentationSystem.instrument)) != ObjectIdentifier(NoOpInstrument.self)
    }
}
