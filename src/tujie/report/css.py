"""The report page's style sheet, inline in every report (no file to fetch: the page opens offline)."""

from .. import plots as figures

CSS = f"""
:root {{
  --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f4f5f7; --card: #ffffff;
  --train: {figures.TRAIN_COLOR}; --val: {figures.VAL_COLOR};
  --ok: {figures.CORRECT_COLOR}; --bad: {figures.WRONG_COLOR};
}}
* {{ box-sizing: border-box; }}
html {{ background: var(--bg); }}
body {{ margin: 0; color: var(--ink); line-height: 1.55; font-size: 15px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue",
    Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }}
main {{ max-width: 1040px; margin: 0 auto; padding: 28px 20px 48px; }}
.card {{ background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 22px 26px; margin: 0 0 18px; box-shadow: 0 1px 2px rgba(16,24,40,.04); }}
h1 {{ font-size: 28px; line-height: 1.25; margin: 2px 0 4px; font-weight: 650; }}
h2 {{ font-size: 19px; margin: 0 0 2px; font-weight: 650; }}
h3 {{ font-size: 14px; margin: 4px 0 8px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; font-weight: 600; }}
.kicker {{ color: var(--muted); font-size: 13px; letter-spacing: .02em; }}
.description {{ margin: 0 0 2px; color: #374151; }}
.when, .facts {{ color: var(--muted); margin: 0 0 10px; font-size: 14px; }}
.facts {{ margin: 14px 0 0; }}
.how {{ color: var(--muted); margin: 0 0 16px; font-size: 14px; max-width: 78ch; }}
.aside {{ color: var(--muted); font-size: 14px; margin: 10px 0 4px; }}
.legend {{ font-size: 14px; margin: 0 0 10px; }}
.train {{ color: var(--train); font-weight: 600; }} .val {{ color: var(--val); font-weight: 600; }}
.ok-text {{ color: var(--ok); font-weight: 600; }} .bad-text {{ color: var(--bad); font-weight: 600; }}
.badge {{ display: inline-block; vertical-align: middle; font-size: 13px; font-weight: 600;
  padding: 2px 10px; border-radius: 999px; position: relative; top: -3px; }}
.badge.small {{ font-size: 11px; padding: 0 7px; top: -1px; }}
.badge-ok {{ background: #dcfce7; color: #166534; }}
.badge-warn {{ background: #fef3c7; color: #92400e; }}
.badge-bad {{ background: #fee2e2; color: #991b1b; }}
.badge-muted {{ background: #e5e7eb; color: #374151; }}
.stats {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 14px 0 0; }}
.stat {{ flex: 1 1 150px; background: #f8fafc; border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 16px; }}
.stat .value {{ font-size: 30px; font-weight: 650; letter-spacing: -.01em;
  font-variant-numeric: tabular-nums; }}
.stat .label {{ color: var(--muted); font-size: 13px; }}
.message {{ background: #f8fafc; border-left: 3px solid var(--muted); padding: 8px 12px;
  margin: 12px 0 0; white-space: pre-wrap; }}
.note {{ background: #f3f4f6; color: #4b5563; border-radius: 8px; padding: 10px 14px;
  margin: 8px 0; font-size: 14px; }}
.note-warn {{ background: #fffbeb; color: #92400e; border: 1px solid #fde68a; }}
.missing {{ margin: 14px 0 0; font-size: 14px; color: #4b5563; background: #f9fafb;
  border: 1px dashed #d1d5db; border-radius: 8px; padding: 10px 14px; }}
.missing ul {{ margin: 4px 0 0; padding-left: 20px; }}
nav.toc {{ display: flex; flex-wrap: wrap; gap: 6px 8px; margin: 0 0 18px; font-size: 14px; }}
nav.toc a {{ color: #374151; text-decoration: none; background: var(--card);
  border: 1px solid var(--line); border-radius: 999px; padding: 3px 12px; }}
nav.toc a:hover {{ border-color: #9ca3af; }}
img.figure {{ display: block; max-width: 100%; height: auto; margin: 4px auto; }}
img.confusion {{ max-width: min(100%, 640px); }}
table.model td:last-child, table.model th:last-child {{ text-align: right; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px;
  font-variant-numeric: tabular-nums; }}
th {{ text-align: left; font-weight: 600; color: var(--muted); font-size: 12px;
  text-transform: uppercase; letter-spacing: .04em; border-bottom: 1px solid var(--line);
  padding: 6px 10px; }}
td {{ border-bottom: 1px solid #f0f1f3; padding: 6px 10px; vertical-align: top; }}
tfoot td {{ border-top: 2px solid var(--line); border-bottom: 0; font-weight: 600; }}
.sub {{ font-weight: 400; color: var(--muted); font-size: 12px; }}
tr.weak td {{ background: #fff1f2; }}
tr.highlight td {{ background: #eef2ff; font-weight: 600; }}
.narrower {{ color: {figures.BETTER_COLOR}; font-weight: 600; }}
.wider {{ color: var(--bad); font-weight: 600; }}
.lead {{ font-size: 15px; margin: 10px 0 8px; font-weight: 600; }}
table.matrix td:not(:first-child), table.matrix th:not(:first-child) {{ text-align: right; }}
tr.frozen td {{ color: #9ca3af; }}
table.kv td:first-child {{ color: var(--muted); width: 34%; }}
table.kv thead {{ display: none; }}
.num {{ font-variant-numeric: tabular-nums; font-weight: 600; }}
.mono, code, pre {{ font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas,
  "DejaVu Sans Mono", monospace; }}
code {{ font-size: .92em; background: #f3f4f6; border-radius: 4px; padding: 0 4px; }}
.meter {{ display: inline-block; min-width: 86px; padding: 0 6px; border-radius: 4px;
  background: linear-gradient(90deg, #dbe7fb var(--w), transparent var(--w)); }}
pre.yaml {{ background: #f8fafc; border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; overflow-x: auto; font-size: 13px; line-height: 1.5; margin: 0;
  max-height: 640px; }}
.scroll {{ overflow-x: auto; }}
.scroll.tall {{ max-height: 560px; overflow-y: auto; }}
details {{ margin: 12px 0 0; font-size: 14px; }}
summary {{ cursor: pointer; color: #374151; }}
details table {{ margin-top: 8px; font-size: 13px; }}
.textcard {{ border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; margin: 0 0 10px; }}
.textcard .meta {{ margin: 0 0 6px; font-size: 13px; color: var(--muted); }}
.textcard .review {{ margin: 0; font-size: 14px; white-space: pre-wrap; }}
.review.attention {{ line-height: 1.9; }}
.review.attention span, .swatch {{ border-radius: 3px; padding: 1px 1px; }}
.swatch {{ padding: 1px 6px; }}
.aside.small {{ font-size: 12px; }}
ul.notes {{ margin: 2px 0 8px; padding-left: 20px; font-size: 13px; color: var(--muted); }}
.maps {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px 20px; }}
figure.attention {{ margin: 0; }}
figure.attention figcaption {{ font-size: 13px; color: var(--muted); text-align: center; }}
table.samples td {{ font-size: 13px; }}
ul.mistakes {{ margin: 2px 0 0; padding-left: 20px; font-size: 14px; }}
.two {{ display: grid; grid-template-columns: 1fr 1fr; gap: 28px; }}
@media (max-width: 720px) {{ .two {{ grid-template-columns: 1fr; }} .card {{ padding: 16px; }} }}
footer {{ color: var(--muted); font-size: 13px; text-align: center; margin-top: 24px; }}
@media print {{ html {{ background: white; }} .card {{ box-shadow: none; break-inside: avoid; }}
  nav.toc {{ display: none; }} }}
"""
