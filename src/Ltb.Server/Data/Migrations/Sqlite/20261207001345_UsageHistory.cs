using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Ltb.Server.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class UsageHistory : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "UsageRecords",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Tier = table.Column<int>(type: "INTEGER", nullable: false),
                    Start = table.Column<long>(type: "INTEGER", nullable: false),
                    HostId = table.Column<Guid>(type: "TEXT", nullable: false),
                    LabId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Node = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    LabName = table.Column<string>(type: "TEXT", maxLength: 40, nullable: false),
                    OwnerId = table.Column<Guid>(type: "TEXT", nullable: true),
                    GroupId = table.Column<Guid>(type: "TEXT", nullable: true),
                    NodeSeconds = table.Column<double>(type: "REAL", nullable: false),
                    CpuSeconds = table.Column<double>(type: "REAL", nullable: false),
                    MemoryByteSeconds = table.Column<double>(type: "REAL", nullable: false),
                    RxBytes = table.Column<long>(type: "INTEGER", nullable: false),
                    TxBytes = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_UsageRecords", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_GroupId_Start",
                table: "UsageRecords",
                columns: new[] { "GroupId", "Start" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_HostId_Start",
                table: "UsageRecords",
                columns: new[] { "HostId", "Start" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_LabId_Start",
                table: "UsageRecords",
                columns: new[] { "LabId", "Start" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_OwnerId_Start",
                table: "UsageRecords",
                columns: new[] { "OwnerId", "Start" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_Tier_Start_HostId_LabId_Node",
                table: "UsageRecords",
                columns: new[] { "Tier", "Start", "HostId", "LabId", "Node" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "UsageRecords");
        }
    }
}
