import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import tseslint from 'typescript-eslint'

// Layer boundaries (the TypeScript counterpart of Kafka's import-control):
// only src/kafka/ may talk to the Kafka client library; everything else goes through our module.
export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.kafka/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }]
        }
      ],
      // With noUncheckedIndexedAccess, `xs[i]!` after a bounds check is the idiom, not a smell.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@platformatic/kafka', '@platformatic/kafka/*'],
              message: 'Use the internal client module src/kafka/ instead of the Kafka library directly.'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['src/kafka/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' }
  },
  // Layers that must not import upward (checked here rather than by convention):
  // state/ (the __kdr_state records and store) sits on core and kafka; engine-events/ (the engine's
  // events and status types) imports nothing; observability/ reads the engine only through engine-events/.
  {
    files: ['src/state/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@platformatic/kafka', '@platformatic/kafka/*'], message: 'Use src/kafka/.' },
            {
              group: ['../*', '!../core', '!../core/*', '!../kafka', '!../kafka/*', '!../errors.ts'],
              message: 'src/state imports only core, kafka and errors.ts.'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['src/engine-events/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*'], message: 'src/engine-events holds types only and imports nothing.' }] }
      ]
    }
  },
  {
    files: ['src/observability/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@platformatic/kafka', '@platformatic/kafka/*'], message: 'Use src/kafka/.' },
            {
              group: ['../engine', '../engine/*'],
              message: 'Observability reads the engine through src/engine-events.'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked
  },
  {
    // The dashboard's script runs in the browser, served as it is (no build step).
    files: ['ui/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        URLSearchParams: 'readonly',
        uPlot: 'readonly'
      }
    }
  },
  prettier
)
