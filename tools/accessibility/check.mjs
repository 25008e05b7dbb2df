// Accessibility check of rendered HTML pages in headless Chromium (called by
// evaluate.report.accessibility; run `npm ci` in this folder first).
//
//   node check.mjs PAGES.json > RESULTS.json
//
// PAGES.json: {"chromium": "/usr/bin/chromium", "pages": {"hubs": "/abs/path/hubs.html", ...}}
// For each page: axe-core's WCAG 2.2 A and AA rules (plus the landmark and heading rules
// axe files under best practice), every chart's alt text and data table (one click away:
// the <details> after the figure), and the keyboard focus order against the reading order.
// The browser is Debian's chromium, started here with a fresh profile and no background
// networking (the closed network refuses its connections otherwise).
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const AXE = readFileSync(join(HERE, "node_modules", "axe-core", "axe.min.js"), "utf8");
const AXE_VERSION = JSON.parse(readFileSync(join(HERE, "node_modules", "axe-core", "package.json"), "utf8")).version;

export const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
// Best-practice rules about the structure a screen-reader user navigates by.
export const STRUCTURE_RULES = ["region", "landmark-one-main", "landmark-unique", "landmark-no-duplicate-main",
  "page-has-heading-one", "heading-order", "empty-heading", "empty-table-header"];

const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage"];

function summarise(results) {
  const short = (r) => ({
    id: r.id, impact: r.impact, help: r.help, tags: r.tags,
    nodes: r.nodes.slice(0, 10).map((n) => ({
      target: n.target.join(" "), html: n.html.slice(0, 200), summary: (n.failureSummary || "").slice(0, 400),
    })),
    count: r.nodes.length,
  });
  return {
    violations: results.violations.map(short),
    incomplete: results.incomplete.map((r) => ({ id: r.id, count: r.nodes.length })),
    passes: results.passes.length,
  };
}

// Every chart: its alt text, and the data table one click away (a <details> right after
// the figure, whose <summary> opens it) with a CSV download.
async function checkCharts(page) {
  const figures = await page.$$eval("figure", (els) => els.filter((f) => f.querySelector("img")).map((f, i) => {
    const img = f.querySelector("img");
    let next = f.nextElementSibling;
    while (next && next.tagName === "DIV" && !next.querySelector("details") && next.textContent.trim() === "") {
      next = next.nextElementSibling;
    }
    const details = next && (next.tagName === "DETAILS" ? next : next.querySelector(":scope > details"));
    const id = f.id || (f.parentElement && f.parentElement.id) || `figure-${i + 1}`;
    if (details) details.setAttribute("data-a11y-chart", id);
    return {
      id, alt: img.getAttribute("alt") || "",
      caption: (f.querySelector("figcaption") || { textContent: "" }).textContent.trim().slice(0, 120),
      details: !!details,
      table: !!(details && details.querySelector("table th")),
      csv: !!(details && details.querySelector("a[download][href^='data:text/csv']")),
    };
  }));
  for (const fig of figures) {
    fig.opens = false;
    if (!fig.details) continue;
    const summary = page.locator(`details[data-a11y-chart="${fig.id}"] > summary`);
    const table = page.locator(`details[data-a11y-chart="${fig.id}"] table`).first();
    const hidden = !(await table.isVisible());
    await summary.click();  // the one click
    fig.opens = hidden && (await table.isVisible());
    await summary.click();  // closed again, as the reader found it
  }
  return figures;
}

// Keyboard: Tab through the page; the focused elements must come in document order (the
// reading order), every focusable element must be reached, and focus must be visible.
async function checkFocus(page) {
  const expected = await page.evaluate(() => {
    const sel = "a[href], button, input, select, textarea, summary, [tabindex]";
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && !el.closest("details:not([open]) > :not(summary)");
    };
    const els = [...document.querySelectorAll(sel)].filter((el) => el.tabIndex >= 0 && !el.disabled && visible(el));
    els.forEach((el, i) => el.setAttribute("data-a11y-order", String(i)));
    return { count: els.length, positive: document.querySelectorAll("[tabindex]:not([tabindex='0']):not([tabindex^='-'])").length };
  });
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  const seen = [];
  let unstyled = 0;
  for (let i = 0; i < expected.count + 1; i++) {
    await page.keyboard.press("Tab");
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const s = getComputedStyle(el);
      const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
      return { order: el.getAttribute("data-a11y-order"), tag: el.tagName.toLowerCase(),
               text: (el.textContent || "").trim().slice(0, 60), visibleFocus: outline || s.boxShadow !== "none" };
    });
    if (info === null) break;  // focus left the document: the end of the page
    if (!info.visibleFocus) unstyled += 1;
    seen.push(info);
  }
  const orders = seen.map((s) => (s.order === null ? -1 : Number(s.order)));
  const outOfOrder = [];
  for (let i = 1; i < orders.length; i++) {
    if (orders[i] <= orders[i - 1]) outOfOrder.push({ after: seen[i - 1].text, came: seen[i].text });
  }
  const reached = new Set(orders.filter((o) => o >= 0)).size;
  return {
    focusable: expected.count, reached, positive_tabindex: expected.positive, unstyled_focus: unstyled,
    out_of_order: outOfOrder.slice(0, 10), in_reading_order: outOfOrder.length === 0 && reached === expected.count
      && expected.positive === 0,
  };
}

async function main() {
  const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const profile = mkdtempSync(join(tmpdir(), "a11y-chromium-"));
  // a persistent context on a fresh, temporary profile (the --user-data-dir)
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: spec.chromium || "/usr/bin/chromium", headless: true, args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  const out = { axe_core: AXE_VERSION, tags: WCAG_TAGS, structure_rules: STRUCTURE_RULES, pages: {} };
  try {
    // nothing leaves the machine: every request but file: and data: is refused
    await context.route(/^(?!file:|data:)/, (route) => route.abort());
    for (const [name, path] of Object.entries(spec.pages)) {
      const page = await context.newPage();
      await page.goto(pathToFileURL(resolve(path)).href, { waitUntil: "load" });
      await page.addScriptTag({ content: AXE });
      const results = await page.evaluate(async ([tags, rules]) => {
        const wcag = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations", "incomplete"] });
        const structure = await window.axe.run(document, { runOnly: { type: "rule", values: rules }, resultTypes: ["violations"] });
        return { wcag, structure };
      }, [WCAG_TAGS, STRUCTURE_RULES]);
      if (spec.screenshots) {  // the top of the page, as a reader first sees it
        await page.screenshot({ path: join(spec.screenshots, `${name.replaceAll("/", "-")}.png`) });
      }
      const lang = await page.evaluate(() => document.documentElement.lang);
      const title = await page.title();
      // zoom: at 400% a 1280 px window is 320 CSS px wide; nothing but a table or code block
      // (each in its own scrolling box) may need scrolling sideways (WCAG 1.4.10, reflow)
      await page.setViewportSize({ width: 320, height: 800 });
      const reflow = await page.evaluate(async ([tags]) => {
        const wide = document.documentElement.scrollWidth;
        const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
        return { scroll_width: wide, fits: wide <= 321,
                 violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
                   nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 200) })) })) };
      }, [WCAG_TAGS]);
      await page.setViewportSize({ width: 1280, height: 900 });
      out.pages[name] = {
        reflow,
        lang, title,
        ...summarise(results.wcag),
        structure_violations: summarise(results.structure).violations,
        // focus first: clicking a summary moves Chromium's sequential focus starting point
        focus: await checkFocus(page),
        charts: await checkCharts(page),
      };
      await page.close();
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
}

main().catch((err) => { process.stderr.write(`accessibility check failed: ${err && err.stack || err}\n`); process.exit(1); });
