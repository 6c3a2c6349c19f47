/**
 * Bar charts as server-rendered SVG (no script, CSP-safe): a labelled image for screen readers
 * (`role="img"` + `aria-label` summarising it) and the same numbers in a table beside it.
 */
export interface Point {
  label: string;
  value: number;
}

export function BarChart(props: {
  id: string;
  title: string;
  points: Point[];
  format?: (n: number) => string;
}) {
  const w = 640;
  const h = 180;
  const pad = 28;
  const max = Math.max(1, ...props.points.map((p) => p.value));
  const n = Math.max(1, props.points.length);
  const bw = (w - pad * 2) / n;
  const fmt = props.format ?? ((x: number) => String(x));
  const total = props.points.reduce((s, p) => s + p.value, 0);
  return (
    <figure aria-labelledby={`${props.id}-caption`}>
      <figcaption id={`${props.id}-caption`}>
        <strong>{props.title}</strong> <span class="muted">(total {fmt(total)})</span>
      </figcaption>
      <svg
        class="chart"
        id={props.id}
        viewBox={`0 0 ${w} ${h}`}
        width="100%"
        height={String(h)}
        role="img"
        aria-label={`${props.title}: ${
          props.points
            .filter((p) => p.value > 0)
            .map((p) => `${p.label} ${fmt(p.value)}`)
            .join(", ") || "no data"
        }`}
        data-total={String(total)}
      >
        <line
          x1={String(pad)}
          y1={String(h - pad)}
          x2={String(w - pad)}
          y2={String(h - pad)}
          stroke="#8a94a3"
        />
        {props.points.map((p, i) => {
          const bh = Math.round(((h - pad * 2) * p.value) / max);
          return (
            <rect
              x={String(Math.round(pad + i * bw + 1))}
              y={String(h - pad - bh)}
              width={String(Math.max(1, Math.floor(bw - 2)))}
              height={String(bh)}
              fill="#0b57d0"
              data-label={p.label}
              data-value={String(p.value)}
            >
              <title>{`${p.label}: ${fmt(p.value)}`}</title>
            </rect>
          );
        })}
        <text x={String(pad)} y={String(h - 8)}>
          {props.points[0]?.label ?? ""}
        </text>
        <text x={String(w - pad)} y={String(h - 8)} text-anchor="end">
          {props.points.at(-1)?.label ?? ""}
        </text>
        <text x={String(pad)} y="14">
          {fmt(max)}
        </text>
      </svg>
      <details>
        <summary>The numbers</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">{props.title}</th>
            </tr>
          </thead>
          <tbody>
            {props.points
              .filter((p) => p.value !== 0)
              .map((p) => (
                <tr>
                  <td>{p.label}</td>
                  <td>{fmt(p.value)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
