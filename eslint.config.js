// ESLint for the browser code: every page script is an ES module served as written (no
// bundler), so the parser reads them as modules and the browser's globals are known.
import js from "@eslint/js";
import globals from "globals";

export default [
  // Third-party code (vendored libraries, the virtualenv's Django admin, collected static files).
  { ignores: ["**/vendor/**", ".venv/**", "var/**", "staticfiles/**", "media/**"] },
  js.configs.recommended,
  {
    files: ["**/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
