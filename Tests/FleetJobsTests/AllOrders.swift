/// Every order of `items` (n! of them): how the order tests process one job set every way.
func allOrders<T>(_ items: [T]) -> [[T]] {
    guard items.count > 1 else { return [items] }
    return items.indices.flatMap { index -> [[T]] in
        var rest = items
        let first = rest.remove(at: index)
        return allOrders(rest).map { [first] + $0 }
    }
}
