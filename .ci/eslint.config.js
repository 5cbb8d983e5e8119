// Kept in .ci/ because the top level of the repository is fixed; `npm run lint` passes it with -c.
// Lint (run by `npm test`): typescript-eslint's recommended rules, without type information, so that it checks
// the whole tree in seconds. What it catches that tsc does not: unused variables and imports, `any` leaking in,
// unsafe declaration merging, floating `@ts-` comments, and the usual JavaScript slips (no-fallthrough, no-empty…).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/out/**', '.demo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a value kept on purpose (destructuring to drop a field, a callback's unused argument)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
