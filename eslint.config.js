// Lint rules, including the module boundaries of DESIGN.md:
// proto <- collector <- enforcer; proto <- relay; cli may use all.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const forbid = (dirs) => ({
  'no-restricted-imports': ['error', {
    patterns: dirs.map((d) => ({ group: [`**/${d}/*`, `**/${d}`], message: `module boundary: this module must not import ${d}/ (see DESIGN.md)` })),
  }],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'proto/gen/**', '**/build/**', 'test/infra/**/target/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  { files: ['proto/**/*.ts'], rules: forbid(['collector', 'enforcer', 'relay', 'cli']) },
  { files: ['collector/**/*.ts'], rules: forbid(['enforcer', 'relay', 'cli']) },
  { files: ['enforcer/**/*.ts'], rules: forbid(['relay', 'cli']) },
  { files: ['relay/**/*.ts'], rules: forbid(['collector', 'enforcer', 'cli']) },
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } } },
);
