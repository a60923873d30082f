import { defineConfig } from "vite";

// The console is served by the gateway under /ui/ from the embedded build
// output in gateway/internal/console/dist (committed; `make ui` rebuilds it).
export default defineConfig({
  base: "/ui/",
  build: {
    outDir: "../internal/console/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // No inline data: URLs for assets: the CSP allows only the gateway's own files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
    sourcemap: false,
  },
});
