// An artifact of a declared type, read through the `artifactSchema` of the
// type version that produced it (lib/schemaView.ts): each value under its
// schema title with its description as help, text with its line breaks,
// lists as lists, nested objects as nested sections, then what the schema
// does not name; "Raw JSON" shows the data as stored.

import { useId, useMemo, useState } from 'react';
import { getString } from '../lib/json';
import { artifactView, type ViewNode } from '../lib/schemaView';
import { JsonView } from './JsonView';

export interface SchemaArtifactViewProps {
  artifactType: string;
  schema: unknown;
  data: unknown;
  version?: number | null | undefined;
}

export function SchemaArtifactView({ artifactType, schema, data, version }: SchemaArtifactViewProps) {
  const [raw, setRaw] = useState(false);
  const headingId = useId();
  const view = useMemo(() => artifactView(schema, data), [schema, data]);
  const title = getString(schema, 'title')?.trim();
  const description = getString(schema, 'description')?.trim();
  return (
    <section className="card stack" aria-labelledby={headingId} data-testid="schema-artifact">
      <div className="card-head">
        <h2 id={headingId}>
          {title ? title : <code>{artifactType}</code>}
          {version ? ` · version ${version}` : ''}
        </h2>
        <button type="button" className="btn btn-small" aria-pressed={raw} onClick={() => setRaw((r) => !r)}>
          Raw JSON
        </button>
      </div>
      {description ? <p className="muted">{description}</p> : null}
      {raw ? <JsonView value={data} label="Artifact data" /> : <Node node={view} />}
    </section>
  );
}

function Node({ node, nested = false }: { node: ViewNode; nested?: boolean }) {
  switch (node.kind) {
    case 'object':
      if (node.entries.length === 0) return <span className="muted">No fields</span>;
      return (
        <dl className={nested ? 'schema-fields schema-nested' : 'schema-fields'}>
          {node.entries.map((e) => (
            <div key={e.key} className="schema-field" data-key={e.key}>
              <dt>
                {e.label}
                {e.extra ? <span className="muted small"> (not in the schema)</span> : null}
              </dt>
              {e.description ? <dd className="hint">{e.description}</dd> : null}
              <dd className="schema-value">
                <Node node={e.node} nested />
              </dd>
            </div>
          ))}
        </dl>
      );
    case 'list':
      return (
        <ul className="schema-list">
          {node.items.map((item, i) => (
            <li key={i}>
              {item.label ? <p className="schema-item-label">{item.label}</p> : null}
              <Node node={item.node} nested />
            </li>
          ))}
        </ul>
      );
    case 'text':
      return node.multiline ? <div className="schema-text">{node.text}</div> : <span className="schema-text">{node.text}</span>;
    case 'value':
      return node.dateTime ? (
        <time dateTime={node.dateTime} title={node.raw}>
          {node.text}
        </time>
      ) : (
        <span title={node.raw}>{node.text}</span>
      );
    case 'empty':
      return <span className="muted">{node.text}</span>;
    case 'json':
      return <JsonView value={node.value} />;
  }
}
