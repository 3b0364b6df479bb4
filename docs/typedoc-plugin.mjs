// Checks TypeDoc's validation lacks, run by `pnpm docs` (typedoc.json loads this file) and so by
// `pnpm lint`; their warnings are errors like TypeDoc's own.
//
// - Every optional field of an exported `…Options` interface says with `@default` what leaving
//   it out means: the reference is where users look for defaults, and prose ("Default 60.")
//   drifts out of the rendered "Default value" section unnoticed. `intentionallyNoDefault` lists
//   `Interface.field`s excused (each must still be missing one, so the list cannot go stale).
// - No exported declaration refers to a type the packages do not export. TypeDoc's `notExported`
//   only looks at the types of the package whose package.json it finds first (`restash`, the
//   workspace root, which has no code), so it lets everything in packages/* through.
import { Application, makeRecursiveVisitor, ParameterType, ReflectionKind } from 'typedoc';

const PACKAGES = ['@restash/core', '@restash/express', '@restash/koa'];

/** @param {Application} app */
export function load(app) {
  app.options.addDeclaration({
    name: 'intentionallyNoDefault',
    help: 'Optional fields of …Options interfaces (Interface.field) allowed to lack @default',
    type: ParameterType.Array,
  });
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    checkDefaults(project, app.logger, app.options.getValue('intentionallyNoDefault'));
    checkExported(project, app.logger);
  });
}

function checkDefaults(project, logger, excused) {
  const used = new Set();
  for (const options of project.getReflectionsByKind(ReflectionKind.Interface)) {
    if (!options.name.endsWith('Options')) continue;
    for (const field of options.children ?? []) {
      if (!field.flags.isOptional) continue;
      if (field.comment?.getTag('@default') ?? field.comment?.getTag('@defaultValue')) continue;
      const name = `${options.name}.${field.name}`;
      if (excused.includes(name)) {
        used.add(name);
        continue;
      }
      logger.validationWarning(
        `${name} is optional but has no @default saying what leaving it out means`,
      );
    }
  }
  const unused = excused.filter((name) => !used.has(name));
  if (unused.length > 0) {
    logger.validationWarning(
      `intentionallyNoDefault names fields that have a @default or do not exist:\n\t${unused.join('\n\t')}`,
    );
  }
}

function checkExported(project, logger) {
  const warned = new Set();
  let owner;
  const visitor = makeRecursiveVisitor({
    reference(type) {
      if (type.reflection || type.externalUrl || type.isIntentionallyBroken()) return;
      if (!PACKAGES.includes(type.package) || project.symbolIdHasBeenRemoved(type.symbolId)) return;
      if (warned.has(type.qualifiedName)) return;
      warned.add(type.qualifiedName);
      logger.validationWarning(
        `${type.qualifiedName} (${type.package}) is referenced by ${owner.getFriendlyFullName()} but not exported`,
      );
    },
  });
  for (const reflection of Object.values(project.reflections)) {
    owner = reflection;
    const types = [
      reflection.type,
      reflection.default,
      ...(reflection.extendedTypes ?? []),
      ...(reflection.implementedTypes ?? []),
    ];
    for (const type of types) type?.visit(visitor);
  }
}
