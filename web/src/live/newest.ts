/**
 * Makes `key` the newest entry of `map` (a Map keeps insertion order), and forgets the
 * oldest beyond `limit`: bounded memory of the most recent images for a page left open.
 */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as K);
}
