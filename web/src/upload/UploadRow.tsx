import { useRef } from "react";

import type { ImageUpdate } from "../graphql/types";
import { ProgressBar } from "./ProgressBar";
import { combinedProgress, formatBytes, phaseLabel, type UploadState } from "./progress";

const BAD_PHASES: ReadonlySet<UploadState["phase"]> = new Set(["rejected", "unsent", "untracked", "failed"]);

interface Props {
  state: UploadState;
  /** The image's latest event, once the panel follows it; read only while processing. */
  update?: ImageUpdate;
  onTryAgain?: (key: string) => void;
}

/** One file: while it is sent, bytes; once it has an id, its image's progress. */
export function UploadRow({ state, update: latest, onTryAgain }: Props) {
  const update = state.phase === "processing" ? latest : undefined;
  const label = phaseLabel(state, update);
  const bad = BAD_PHASES.has(state.phase);
  const status = useRef<HTMLParagraphElement>(null);
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
      {/* One live region for the row's whole life, so each new status is announced; not
          while bytes go out, which would be a new announcement for every few KB. */}
      <p
        ref={status}
        // Where focus goes from Try again, which leaves once pressed.
        tabIndex={-1}
        className={bad ? "upload-status error" : "upload-status"}
        role={bad ? "alert" : undefined}
        aria-live="polite"
        aria-busy={state.phase === "uploading"}
      >
        {label}
        {(state.phase === "completed" || state.phase === "untracked") && state.id && (
          <>
            {" · "}
            <a href={`#/images/${state.id}`}>view</a>
          </>
        )}
      </p>
      {state.phase === "unsent" && onTryAgain && (
        <button
          type="button"
          aria-label={`Try again to upload ${state.file.name}`}
          onClick={() => {
            status.current?.focus();
            onTryAgain(state.key);
          }}
        >
          Try again
        </button>
      )}
    </li>
  );
}
