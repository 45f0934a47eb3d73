import { useSubscription } from "@apollo/client/react";
import { useEffect } from "react";

import { IMAGE_UPDATES } from "../graphql/operations";
import { isFinal, type ImageUpdate } from "../graphql/types";
import { ProgressBar } from "./ProgressBar";
import { combinedProgress, formatBytes, phaseLabel, type UploadState } from "./progress";

interface Props {
  state: UploadState;
  onFinal: (key: string, update: ImageUpdate) => void;
}

/** One file: while it is sent, bytes; once it has an id, its own `imageUpdates(ids: [id])`. */
export function UploadRow({ state, onFinal }: Props) {
  const watching = state.phase === "processing" && state.id !== undefined;
  const { data } = useSubscription(IMAGE_UPDATES, {
    variables: { ids: state.id ? [state.id] : [] },
    skip: !watching,
  });
  const update = watching ? data?.imageUpdates : undefined;
  useEffect(() => {
    if (update && isFinal(update.status)) onFinal(state.key, update);
  }, [update, state.key, onFinal]);
  return <UploadRowView state={state} update={update} />;
}

export function UploadRowView({ state, update }: { state: UploadState; update?: ImageUpdate }) {
  const label = phaseLabel(state, update);
  const bad = state.phase === "rejected" || state.phase === "failed";
  return (
    <li className={`upload-row ${state.phase}`}>
      <div className="upload-row-head">
        <span className="upload-name" title={state.file.name}>
          {state.file.name}
        </span>
        <span className="upload-size">{formatBytes(state.file.size)}</span>
      </div>
      <ProgressBar
        value={combinedProgress(state, update)}
        label={`${state.file.name}: ${label}`}
        tone={bad ? "bad" : state.phase === "completed" ? "ok" : undefined}
      />
      <p className={bad ? "upload-status error" : "upload-status"} role={bad ? "alert" : undefined}>
        {label}
        {state.phase === "completed" && state.id && (
          <>
            {" · "}
            <a href={`#/images/${state.id}`}>view</a>
          </>
        )}
      </p>
    </li>
  );
}
