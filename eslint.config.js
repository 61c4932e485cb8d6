// Lint config: typescript-eslint's recommended rules with type information, over src, test and scripts.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bin/**', 'node_modules/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The dashboard's browser scripts: tsc -p tsconfig.ui.json checks every name they use against the
    // DOM's types, which knows the browser's globals better than a list here would.
    files: ['src/roles/proxy/ui/static/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
)
