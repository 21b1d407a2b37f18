"""Planning: the plan in force, the runs that replace it (MPC loop), the outlook and the plan document."""
