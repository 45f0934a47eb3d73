import type { ApolloCache, Reference } from "@apollo/client";

/** The root fields that hold an image, as stored: by reference. */
interface StoredRoot {
  images: { edges: { node: Reference }[] };
  image: Reference | null;
}

/**
 * A deleted image leaves the cache: its edge in every cached gallery list, the detail
 * query's answer for it (now null), then its entry. The gallery drops the card at once,
 * whether or not the DELETED event reaches this page.
 */
export function forgetImage(cache: ApolloCache, id: string): void {
  const ref = cache.identify({ __typename: "Image", id });
  if (!ref) return;
  const isIt = (value: Reference | null): boolean => value?.__ref === ref;
  cache.modify<StoredRoot>({
    id: "ROOT_QUERY",
    fields: {
      images: (list, { isReference }) =>
        isReference(list) ? list : { ...list, edges: list.edges.filter((edge) => !isIt(edge.node)) },
      image: (value) => (isIt(value) ? null : value),
    },
  });
  cache.evict({ id: ref });
  cache.gc();
}
