// Glue for report.html: DataTables (itables' offline bundle) draws the leaderboard, Plotly the Pareto
// plot. Both libraries are inlined in the page; this file only wires them to the report's data.
const data = JSON.parse(document.getElementById("report-data").textContent);
const rows = data.rows;

// the DataTables bundle is an ES module: the page carries it base64-encoded and imports it as a data URL
const encoded = document.getElementById("datatables-source").textContent.trim();
const { default: DataTable } = await import(`data:text/javascript;base64,${encoded}`);
DataTable.ext.errMode = "throw";  // a data error lands in the console (and the browser test), not an alert

const MISSING = "–";
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function number(digits) {  // numbers sort as numbers; a missing value sorts below every number
  const format = new Intl.NumberFormat("en-US", { maximumFractionDigits: digits });  // one: they are slow to make
  return (value, type) => {
    if (type === "sort" || type === "type") return value ?? -Infinity;
    if (type === "export") return value ?? "";  // the CSV holds plain numbers
    if (value === null || value === undefined) return MISSING;
    return format.format(value);
  };
}

function score(value, type, row) {
  if (type === "sort" || type === "type") return value ?? -Infinity;
  if (type === "export") return value ?? "";  // the mean; its std is a column of the CSV of its own
  if (value === null) return MISSING;
  const spread = row.std !== null && (row.runs === null || row.runs > 1) ? ` ± ${row.std.toFixed(1)}` : "";
  return `${value.toFixed(1)}${spread}`;
}

function method(value, type, row) {
  if (row.kind === "measured") return type === "display" ? escapeHtml(value) : value;
  if (type !== "display") return `${value} [${row.kind}]`;
  return `${escapeHtml(value)} <span class="badge badge-${row.kind}">${row.kind}</span>`;
}

const COLUMNS = [
  { data: "task", title: "Task", type: "string" },
  { data: "method", title: "Method", render: method, type: "string" },
  { data: "model", title: "Model", type: "string" },
  { data: "shots", title: "Shots", type: "string" },
  { data: "protocol", title: "Split protocol", type: "string" },
  { data: "selection", title: "Selection", type: "string" },
  { data: "score", title: "Score", render: score, type: "num", searchable: false, className: "dt-right strong" },
  { data: "std", title: "Std", render: number(2), type: "num", searchable: false, visible: false },
  { data: "runs", title: "Runs", render: number(0), type: "num", searchable: false },
  { data: "dev", title: "Dev", render: number(1), type: "num", searchable: false },
  { data: "trainable", title: "Trainable params", render: number(0), type: "num", searchable: false },
  { data: "trainable_share", title: "Trainable %", render: number(3), type: "num", searchable: false },
  { data: "peak_mib", title: "Peak MiB", render: number(0), type: "num", searchable: false },
  { data: "train_sps", title: "Train samples/s", render: number(1), type: "num", searchable: false },
  { data: "eval_sps", title: "Eval samples/s", render: number(1), type: "num", searchable: false },
  { data: "mlm_head", title: "MLM head", type: "string" },
];

const filters = [...document.querySelectorAll(".filters select[data-field]")];
for (const select of filters) {
  const values = [...new Set(rows.map((row) => row[select.dataset.field]))].sort();
  select.append(...values.map((value) => new Option(value, value)));
}
DataTable.ext.search.push((settings, searchData, index, row) =>
  filters.every((select) => !select.value || row[select.dataset.field] === select.value));

const table = new DataTable("#leaderboard", {
  data: rows, columns: COLUMNS, deferRender: true, pageLength: 25, autoWidth: false,
  lengthMenu: [10, 25, 100, 500], order: [[0, "asc"], [6, "desc"]],
  layout: { topStart: ["pageLength", "buttons"], topEnd: "search" },
  buttons: [{ extend: "csvHtml5", text: "Export CSV (rows shown)", filename: "petbench-leaderboard",
              exportOptions: { orthogonal: "export", columns: () => true } }],  // hidden std too
  createdRow: (tr, row) => tr.classList.add("leaderboard-row", `row-${row.kind}`),
});
for (const select of filters) select.addEventListener("change", () => table.draw());
window.leaderboard = table;  // for a reader's console, and the browser test

function drillDown(row) {
  const header = "<tr><th>seed</th><th>split</th><th>score</th><th>dev score</th><th>best step</th>"
    + "<th>wall s</th><th>cell id</th></tr>";
  const body = row.cells.map((cell) => `<tr><td>${cell.seed}</td><td>${escapeHtml(cell.split)}</td>`
    + `<td>${cell.score ?? MISSING}</td><td>${cell.dev ?? MISSING}</td><td>${cell.best_step}</td>`
    + `<td>${cell.wall ?? MISSING}</td><td><code>${escapeHtml(cell.cell_id)}</code></td></tr>`).join("");
  if (!row.cells.length) return `<p class="drill">${escapeHtml(row.method)}: no cells measured here.</p>`;
  return `<table class="drill">${header}${body}</table>` + row.cells.map(cellErrors).join("");
}

function cellErrors(cell) {  // a --log-samples cell's wrong eval examples, most confident first
  if (!cell.errors) return "";
  const { wrong, total, examples } = cell.errors;
  const listed = examples.length < wrong ? ` (the ${examples.length} most confident listed)` : "";
  const body = examples.map((example) => `<tr><td>${escapeHtml(example.text)}</td>`
    + `<td>${escapeHtml(example.gold)}</td><td>${escapeHtml(example.prediction)}</td>`
    + `<td>${example.p ?? MISSING}</td></tr>`).join("");
  return `<details class="drill errors"><summary>seed ${cell.seed}${cell.split ? `, split ${escapeHtml(cell.split)}` : ""}: `
    + `${wrong} of ${total} eval examples wrong${listed}</summary><table><tr><th>text</th><th>gold</th>`
    + `<th>prediction</th><th>p(prediction)</th></tr>${body}</table></details>`;
}

table.on("click", "tbody tr", function () {
  const row = table.row(this);
  if (!row.data()) return;  // a drill-down's own row
  if (row.child.isShown()) row.child.hide();
  else row.child(drillDown(row.data())).show();
  this.classList.toggle("opened", row.child.isShown());
});

const AXES = {
  trainable: { title: "trainable parameters (log scale)", type: "log", cheaper: (a, b) => a < b },
  peak_mib: { title: "peak memory (MiB)", type: "linear", cheaper: (a, b) => a < b },
  train_sps: { title: "train throughput (samples/s)", type: "linear", cheaper: (a, b) => a > b },
};

function frontier(points, axis) {  // from cheapest to dearest, each point that beats every cheaper one
  const sorted = [...points].sort((a, b) => (AXES[axis].cheaper(a[axis], b[axis]) ? -1 : 1));
  const kept = [];
  for (const point of sorted) if (!kept.length || point.score > kept[kept.length - 1].score) kept.push(point);
  return kept;
}

const oneDecimal = number(1);

function hover(row, axis) {
  return `<b>${escapeHtml(row.method)}</b><br>${escapeHtml(row.task)} · ${escapeHtml(row.model)} · `
    + `${escapeHtml(row.shots)} shots<br>score ${score(row.score, "display", row)} (${row.runs} runs)<br>`
    + `${AXES[axis].title.replace(" (log scale)", "")}: ${oneDecimal(row[axis], "display")}`;
}

const LABELLED_POINTS = 24;
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"];

function taskTraces(task, points, axis, color, labelled) {  // the rows as points, and their frontier
  const best = frontier(points, axis);
  return [
    { type: "scatter", mode: labelled ? "markers+text" : "markers", name: task, legendgroup: task,
      meta: "points", x: points.map((row) => row[axis]), y: points.map((row) => row.score),
      textposition: "middle right", textfont: { size: 11, color: "#3b4456" }, cliponaxis: false,
      texttemplate: points.map((row) => `\u2002\u2002${row.method_name}`),
      text: points.map((row) => hover(row, axis)), hoverinfo: "text",
      marker: { size: 9, opacity: 0.85, color,
                symbol: points.map((row) => (row.kind === "reference" ? "diamond" : "circle")) } },
    { type: "scatter", mode: "lines+markers", name: `${task} frontier`, legendgroup: task, meta: "frontier",
      marker: { symbol: "circle-open", size: 16, line: { width: 2 }, color }, opacity: 0.75,
      x: best.map((row) => row[axis]), y: best.map((row) => row.score),
      line: { dash: "dash", width: 2, shape: "hv", color }, hoverinfo: "skip", showlegend: false },
  ];
}

function majorityLines(majority, colors) {  // a dotted line per task: below it, a method learned nothing
  const unique = [...new Map(majority.map((row) => [`${row.task} ${row.score}`, row])).values()];
  return {
    shapes: unique.map((row) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: row.score, y1: row.score,
                                   line: { dash: "dot", width: 1, color: colors.get(row.task) } })),
    annotations: unique.map((row) => ({ text: `majority class (${escapeHtml(row.task)})`, showarrow: false,
                                        xref: "paper", x: 0.005, xanchor: "left", y: row.score,
                                        yanchor: "bottom", font: { size: 10, color: "#5a6275" } })),
  };
}

function paddedRange(values) {  // autorange would put a majority line on the axis itself
  const low = Math.min(...values), high = Math.max(...values), pad = Math.max(0.06 * (high - low), 0.5);
  return values.length ? [low - pad, high + pad] : undefined;
}

function drawPlot() {
  const axis = document.getElementById("pareto-axis").value;
  const rows = table.rows({ search: "applied" }).data().toArray();
  const shown = rows.filter((row) => row.kind !== "published" && row.score !== null && row[axis] > 0);
  const tasks = [...new Set(shown.map((row) => row.task))];
  const colors = new Map(tasks.map((task, index) => [task, PALETTE[index % PALETTE.length]]));
  const labelled = shown.length <= LABELLED_POINTS;  // names beside the points while they stay legible
  const traces = tasks.flatMap((task) =>
    taskTraces(task, shown.filter((row) => row.task === task), axis, colors.get(task), labelled));
  const majority = rows.filter((row) => row.method_name === "majority class" && colors.has(row.task));
  const { shapes, annotations } = majorityLines(majority, colors);
  if (!traces.length) {
    annotations.push({ text: "no row shown has this measure", showarrow: false, xref: "paper", yref: "paper",
                       x: 0.5, y: 0.5 });
  }
  const layout = { margin: { t: 40, r: 110, b: 60, l: 70 }, height: 460, hovermode: "closest", shapes,
                   annotations, xaxis: { title: { text: AXES[axis].title }, type: AXES[axis].type },
                   yaxis: { title: { text: "score (x100)" },
                            range: paddedRange([...shown, ...majority].map((row) => row.score)) },
                   legend: { title: { text: "task " }, orientation: "h", x: 0, y: 1.02, yanchor: "bottom" } };
  return Plotly.react("pareto", traces, layout, { displaylogo: false, responsive: true });
}

let plottedFilter = null;
table.on("draw", () => {  // redraw only when the filtering changed, not on a page turn or a sort
  const key = table.rows({ search: "applied" }).indexes().toArray().join(",");
  if (key !== plottedFilter) { plottedFilter = key; drawPlot(); }
});
document.getElementById("pareto-axis").addEventListener("change", drawPlot);
plottedFilter = table.rows({ search: "applied" }).indexes().toArray().join(",");
document.body.dataset.tableMs = performance.now().toFixed(0);  // what the speed measurement reads

// Plotly's 5 MB take a while to compile on a cold browser: let the table show first, then load it
await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
const plotly = document.createElement("script");
plotly.textContent = document.getElementById("plotly-source").textContent;
document.head.append(plotly);
await drawPlot();
document.body.dataset.readyMs = performance.now().toFixed(0);
