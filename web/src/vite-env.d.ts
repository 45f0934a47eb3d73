interface ImportMetaEnv {
  /** The API's origin when the app is served apart from it; unset: the page's own. */
  readonly VITE_API_ORIGIN?: string;
}
