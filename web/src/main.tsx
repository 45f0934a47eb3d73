import { ApolloProvider } from "@apollo/client/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createApolloClient } from "./apollo";
import { App } from "./App";
import { ConnectionStatus } from "./live/connection";
import { LiveUpdates } from "./live/LiveUpdates";
import "./styles.css";

const connection = new ConnectionStatus();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ApolloProvider client={createApolloClient(connection)}>
      <LiveUpdates connection={connection}>
        <App />
      </LiveUpdates>
    </ApolloProvider>
  </StrictMode>,
);
