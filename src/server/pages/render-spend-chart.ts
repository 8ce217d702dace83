import { formatUsd } from './format.js';
import { type Html, html } from './html.js';
import type { DashboardStats } from './view-models.js';

/** Repositories drawn in their own colour; the rest are added up as "other". */
const MAX_SERIES = 6;
const WIDTH = 720;
const HEIGHT = 200;
const PLOT = { left: 48, right: 8, top: 10, bottom: 24 };

interface Series {
  name: string;
  className: string;
  total: number;
  byDay: Map<string, number>;
}

/**
 * Spend per day over the period, stacked by repository, as inline SVG (no script, no library: the
 * page's CSP allows neither inline script nor another origin). Colours come from classes in the
 * stylesheet; each bar segment has a `<title>` the browser shows on hover.
 */
export function renderSpendChart(spend: DashboardStats['spend']): Html {
  const days = dayList(spend.today, spend.days);
  const series = toSeries(spend.points);
  const totals = days.map((day) => series.reduce((sum, s) => sum + (s.byDay.get(day) ?? 0), 0));
  const top = niceCeiling(Math.max(0, ...totals));
  const plotW = WIDTH - PLOT.left - PLOT.right;
  const plotH = HEIGHT - PLOT.top - PLOT.bottom;
  const slot = plotW / days.length;
  const y = (usd: number) => PLOT.top + plotH - (usd / top) * plotH;
  const grid = [0, 0.25, 0.5, 0.75, 1].map(
    (f) =>
      html`<line class="grid" x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(top * f)}" y2="${y(top * f)}"></line><text class="axis" x="${PLOT.left - 6}" y="${y(top * f) + 4}" text-anchor="end">${formatAxisUsd(top * f)}</text>`,
  );
  const bars = days.map((day, i) => {
    let base = 0;
    const x = PLOT.left + i * slot + slot * 0.15;
    const segments = series.map((s) => {
      const usd = s.byDay.get(day) ?? 0;
      if (usd <= 0) return '';
      const rect = html`<rect class="${s.className}" x="${x.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" y="${y(base + usd).toFixed(1)}" height="${(y(base) - y(base + usd)).toFixed(1)}"><title>${day} · ${s.name}: ${formatUsd(usd)}</title></rect>`;
      base += usd;
      return rect;
    });
    // Every seventh day is labelled, counting back from today; today's label ends at the edge.
    const last = i === days.length - 1;
    const labelX = last ? WIDTH - PLOT.right : PLOT.left + i * slot + slot / 2;
    const label =
      i % 7 === (days.length - 1) % 7
        ? html`<text class="axis" x="${labelX.toFixed(1)}" y="${HEIGHT - 6}" text-anchor="${last ? 'end' : 'middle'}">${shortDay(day)}</text>`
        : '';
    return html`${segments}${label}`;
  });
  const total = totals.reduce((a, b) => a + b, 0);
  return html`<figure class="chart" id="spend-chart">
    <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="Spend per day over the last ${days.length} days, by repository: ${formatUsd(total)} in all">${grid}${bars}</svg>
    <figcaption><ul class="legend"><li class="legend-total">${formatUsd(total)} in all</li>${series.map(
      (s) =>
        html`<li><span class="key ${s.className}"></span>${s.name} <span class="meta">${formatUsd(s.total)}</span></li>`,
    )}</ul>${series.length === 0 ? html`<p class="empty">Nothing spent in the last ${days.length} days.</p>` : ''}</figcaption>
  </figure>`;
}

/** The `count` days up to `today`, oldest first, as `YYYY-MM-DD` (UTC). */
export function dayList(today: string, count: number): string[] {
  const end = Date.parse(`${today}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) =>
    new Date(end - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}

function toSeries(points: DashboardStats['spend']['points']): Series[] {
  const byRepo = new Map<string, Map<string, number>>();
  for (const p of points) {
    const days = byRepo.get(p.repo) ?? new Map<string, number>();
    days.set(p.day, (days.get(p.day) ?? 0) + p.usd);
    byRepo.set(p.repo, days);
  }
  const sum = (days: Map<string, number>) => [...days.values()].reduce((a, b) => a + b, 0);
  const ranked = [...byRepo.entries()]
    .map(([name, byDay]) => ({ name, byDay, total: sum(byDay) }))
    .filter((s) => s.total > 0)
    .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  const shown = ranked.length > MAX_SERIES + 1 ? ranked.slice(0, MAX_SERIES) : ranked;
  const series: Series[] = shown.map((s, i) => ({ ...s, className: `series-${i}` }));
  const rest = ranked.slice(shown.length);
  if (rest.length > 0) {
    const byDay = new Map<string, number>();
    for (const s of rest) for (const [day, usd] of s.byDay) byDay.set(day, (byDay.get(day) ?? 0) + usd);
    series.push({
      name: `${rest.length} other repositories`,
      className: 'series-other',
      total: sum(byDay),
      byDay,
    });
  }
  return series;
}

/** The axis' top: the next of 1, 2, 5 × 10ⁿ at or above `max` (at least $1). */
function niceCeiling(max: number): number {
  if (max <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  const step = [1, 2, 5, 10].find((m) => m * power >= max) ?? 10;
  return step * power;
}

function formatAxisUsd(usd: number): string {
  return usd >= 10 || usd === 0 ? `$${Math.round(usd)}` : `$${usd.toFixed(2).replace(/\.?0+$/, '')}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function shortDay(day: string): string {
  const [, month, date] = day.split('-');
  return `${MONTHS[Number(month) - 1] ?? month} ${Number(date)}`;
}
