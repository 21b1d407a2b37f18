// Bundles the plan card into the one file the integration serves (HACS installs only that folder), and
// the add-on's own page into the script its API serves (optimizer/shems_optimizer/api/web/app.js).
// `npm ci && npm run build` gives both committed files byte for byte; OUT_DIR=path builds them into
// that folder instead (the check), as shems-plan-card.js and app.js.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const out = (name, committed) => (process.env.OUT_DIR ? `${process.env.OUT_DIR}/${name}` : here(committed));

const common = {
  bundle: true,
  target: "es2021",
  minify: true,
  charset: "utf8",
  legalComments: "eof",
  loader: { ".css": "text" },
  logLevel: "warning",
};

await build({
  ...common,
  entryPoints: [here("src/shems-plan-card.js")],
  outfile: out("shems-plan-card.js", "../custom_components/shems/frontend/shems-plan-card.js"),
  format: "esm",
});
// A plain script (the page loads it with <script src>), so it runs in the page's own scope.
await build({
  ...common,
  entryPoints: [here("src/addon-page.js")],
  outfile: out("app.js", "../optimizer/shems_optimizer/api/web/app.js"),
  format: "iife",
});
