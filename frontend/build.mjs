// Bundles the plan card into the one file the integration serves (HACS installs only that folder).
// `npm ci && npm run build` gives the committed file byte for byte; OUT=path builds elsewhere (the check).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

await build({
  entryPoints: [here("src/shems-plan-card.js")],
  outfile: process.env.OUT || here("../custom_components/shems/frontend/shems-plan-card.js"),
  bundle: true,
  format: "esm",
  target: "es2021",
  minify: true,
  charset: "utf8",
  legalComments: "eof",
  loader: { ".css": "text" },
  logLevel: "warning",
});
