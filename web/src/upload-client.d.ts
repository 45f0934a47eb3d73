// apollo-upload-client ships JavaScript with JSDoc types only; this is the part we use.
declare module "apollo-upload-client/UploadHttpLink.mjs" {
  import { ApolloLink } from "@apollo/client";

  export default class UploadHttpLink extends ApolloLink {
    constructor(options?: {
      uri?: string;
      fetch?: typeof fetch;
      fetchOptions?: RequestInit;
      headers?: Record<string, string>;
      credentials?: string;
      includeExtensions?: boolean;
    });
  }
}
