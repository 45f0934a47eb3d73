import { ApolloProvider } from "@apollo/client/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createApolloClient } from "./apollo";
import { App } from "./App";
import { LiveUpdates } from "./live/LiveUpdates";
import "./styles.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ApolloProvider client={createApolloClient()}>
      <LiveUpdates>
        <App />
      </LiveUpdates>
    </ApolloProvider>
  </StrictMode>,
);
