using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Ltb.Server.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class LabTemplateSource : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "TemplateId",
                table: "Labs",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "TemplateVersion",
                table: "Labs",
                type: "integer",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Labs_TemplateId",
                table: "Labs",
                column: "TemplateId");

            migrationBuilder.AddForeignKey(
                name: "FK_Labs_LabTemplates_TemplateId",
                table: "Labs",
                column: "TemplateId",
                principalTable: "LabTemplates",
                principalColumn: "Id",
                onDelete: ReferentialAction.SetNull);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_Labs_LabTemplates_TemplateId",
                table: "Labs");

            migrationBuilder.DropIndex(
                name: "IX_Labs_TemplateId",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "TemplateId",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "TemplateVersion",
                table: "Labs");
        }
    }
}
