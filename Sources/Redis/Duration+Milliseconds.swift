extension Duration {
    /// Milliseconds for `PX`/`PEXPIRE`, rounded up so a tiny positive duration never becomes 0.
    var wholeMillisecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return attoseconds % 1_000_000_000_000_000 > 0 ? millis + 1 : millis
    }
}
