import type { Command } from 'commander'
import { registerCheckCommand } from './check.js'
import { registerHistoryCommands } from './history-commands.js'
import { registerInitCommand } from './init.js'
import { registerPlanCommand } from './plan.js'
import { registerSimulateCommand } from './simulate.js'

/** The operator commands of issue 16, each in its own file. */
export function registerOperatorCommands(program: Command): void {
  registerCheckCommand(program)
  registerHistoryCommands(program)
  registerPlanCommand(program)
  registerInitCommand(program)
  registerSimulateCommand(program)
}
