// Nearest rank, as harness reports percentiles: the value at 1-based rank ceil(p*n) of the sorted samples.
export function nearestRank(sortedAscending, p) {
  const rank = Math.min(sortedAscending.length, Math.max(1, Math.ceil(p * sortedAscending.length - 1e-9)));
  return sortedAscending[rank - 1];
}
